// The rating form: the call-back phone field matters after a bad rating, so it is shown
// prominently only then (the form works without this script: the field is always there).
(function () {
  var form = document.getElementById("rate-form");
  if (!form) return;
  var phone = document.getElementById("phone-field");
  function update() {
    var chosen = form.querySelector('input[name="level"]:checked');
    phone.hidden = !(chosen && chosen.dataset.bad === "1");
  }
  form.addEventListener("change", update);
  update();
})();
