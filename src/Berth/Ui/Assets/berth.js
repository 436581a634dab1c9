// Copy buttons: every flow works without this file; it only adds the buttons' behaviour.
document.documentElement.classList.add("js");
document.addEventListener("click", function (e) {
  var b = e.target.closest("button.copy");
  if (!b) return;
  var text = document.getElementById(b.getAttribute("data-copy")).textContent;
  navigator.clipboard.writeText(text).then(function () {
    var label = b.textContent;
    b.textContent = "Copied";
    setTimeout(function () { b.textContent = label; }, 1500);
  });
});
