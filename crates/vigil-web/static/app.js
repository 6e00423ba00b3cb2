// Progressive enhancement only: the pages work without it.
// "Show the pictures" reveals them in place instead of reloading the page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-reveal]");
  if (!link) return;
  event.preventDefault();
  const viewer = link.closest(".viewer");
  viewer.classList.add("revealed");
  viewer.querySelectorAll(".media").forEach((m) => m.classList.remove("blurred"));
  link.remove();
  // Recorded like a reload with ?reveal=1 would be.
  fetch(window.location.pathname + "/reveal", {
    method: "POST",
    headers: { "x-csrf-token": document.querySelector("input[name=csrf]")?.value || "" },
    credentials: "same-origin",
  });
});

// The video player: step one frame at a time (buttons, or "," and "."), "k" plays or pauses.
// The file's frame rate comes from the page; a frame is shown by seeking to its middle.
document.querySelectorAll(".player").forEach((player) => {
  const video = player.querySelector("video");
  const controls = player.querySelector(".frame-controls");
  const position = player.querySelector(".position");
  const fps = parseFloat(player.dataset.fps) || 25;
  controls.hidden = false;
  const frame = () => Math.floor(video.currentTime * fps + 1e-6);
  const show = () => {
    position.textContent = `frame ${frame()} · ${video.currentTime.toFixed(3)} s`;
  };
  const step = (n) => {
    video.pause();
    const last = Number.isFinite(video.duration) ? Math.floor(video.duration * fps) : Infinity;
    const target = Math.max(0, Math.min(last, frame() + n));
    video.currentTime = (target + 0.5) / fps;
  };
  controls.addEventListener("click", (event) => {
    const button = event.target.closest("[data-step]");
    if (button) step(Number(button.dataset.step));
  });
  ["timeupdate", "seeked", "loadedmetadata"].forEach((e) => video.addEventListener(e, show));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === ",") step(-1);
    else if (event.key === ".") step(1);
    else if (event.key === "k") video.paused ? video.play() : video.pause();
    else return;
    event.preventDefault();
  });
});
