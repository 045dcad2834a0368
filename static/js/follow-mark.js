// "You follow" on the cards of artists the signed-in user follows. Their ids are in the page
// (#followed-artists), never in the artist list itself, which is the same for every visitor.
(function () {
  "use strict";

  function followedIds() {
    var data = document.getElementById("followed-artists");
    return data ? new Set(JSON.parse(data.textContent)) : new Set();
  }

  function mark(root) {
    var ids = followedIds();
    if (!ids.size) return;
    root.querySelectorAll("[data-artist-id]").forEach(function (card) {
      if (!ids.has(card.dataset.artistId) || card.querySelector(".badge-follow")) return;
      var badge = document.createElement("span");
      badge.className = "badge-follow";
      badge.dataset.testid = "follow-mark";
      badge.textContent = "You follow";
      var name = card.querySelector(".artist-card__name");
      (name || card).insertAdjacentElement("afterend", badge);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { mark(document); });
  document.addEventListener("htmx:afterSettle", function (event) { mark(event.target); });
})();
