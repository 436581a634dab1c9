return await new Berth.Cli(Console.In, Console.Out, Console.Error, TimeProvider.System).RunAsync(args);
