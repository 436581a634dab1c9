return await new Berth.Cli(Console.In, Console.Out, Console.Error).RunAsync(args);
