// Progressive enhancement only: the pages work without it.
// "Show the pictures" reveals them in place instead of reloading the page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-reveal]");
  if (!link) return;
  event.preventDefault();
  const viewer = link.closest(".viewer");
  viewer.classList.add("revealed");
  viewer.querySelectorAll("img.media").forEach((img) => img.classList.remove("blurred"));
  link.remove();
  // Recorded like a reload with ?reveal=1 would be.
  fetch(window.location.pathname + "/reveal", {
    method: "POST",
    headers: { "x-csrf-token": document.querySelector("input[name=csrf]")?.value || "" },
    credentials: "same-origin",
  });
});
