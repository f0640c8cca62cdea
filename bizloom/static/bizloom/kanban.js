// Pipeline pages: the kanban board (drag and drop with SortableJS, "Move to…" menus) and the
// product-line editor of the opportunity form. Both pages also work without this script:
// the menus are plain forms and the line editor always has one empty row.
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.content : "";
  }

  // --- the board -----------------------------------------------------------------------------

  function showStatus(text, isError) {
    const box = document.getElementById("kanban-status");
    if (!box) return;
    box.textContent = text || "";
    box.classList.toggle("error", Boolean(isError));
  }

  function boardFilters(data) {
    const filters = document.getElementById("board-filters");
    if (!filters) return data;
    new FormData(filters).forEach(function (value, name) {
      if (value) data.append("board_" + name, value);
    });
    return data;
  }

  function updateTotals(columns) {
    Object.keys(columns || {}).forEach(function (stageId) {
      const box = document.querySelector("[data-totals-for='" + stageId + "']");
      if (!box) return;
      const totals = columns[stageId];
      const set = function (selector, text) {
        const el = box.querySelector(selector);
        if (el) el.textContent = text;
      };
      set(".count", String(totals.count));
      set(".amount", totals.amount);
      set(".weighted-value", totals.weighted);
      const other = box.querySelector(".other");
      if (other) {
        other.textContent = "";
        totals.other.forEach(function (text) {
          const span = document.createElement("span");
          span.textContent = "+ " + text;
          other.appendChild(span);
        });
      }
    });
  }

  function askLossReason() {
    const dialog = document.getElementById("loss-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(null);
    const form = dialog.querySelector("form");
    form.reset();
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue !== "ok") return resolve(null);
        resolve({ loss_reason: form.loss_reason.value, loss_note: form.loss_note.value });
      });
      dialog.returnValue = "";  // Escape keeps the last value: an earlier "ok" must not count
      dialog.showModal();
    });
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: response.statusText }; })
        .then(function (body) { return { ok: response.ok && body.ok, body: body }; });
    });
  }

  function markCurrent(card, stageId) {
    card.dataset.stage = stageId;
    card.querySelectorAll(".move-menu option").forEach(function (option) {
      option.disabled = option.value === String(stageId);
    });
    const select = card.querySelector(".move-menu select");
    if (select && select.selectedOptions[0] && select.selectedOptions[0].disabled) {
      const first = select.querySelector("option:not([disabled])");
      if (first) select.value = first.value;
    }
  }

  // Post the move of ``card`` to ``stageId``; ``revert()`` puts it back when the server refuses.
  function moveCard(card, stageId, kind, revert, extra) {
    if (kind === "lost" && !extra) {
      return askLossReason().then(function (answer) {
        if (!answer) { revert(); showStatus(""); return; }
        return moveCard(card, stageId, kind, revert, answer);
      });
    }
    const data = boardFilters(new FormData());
    data.append("stage", stageId);
    Object.keys(extra || {}).forEach(function (name) { data.append(name, extra[name]); });
    card.classList.add("moving");
    return post(card.dataset.moveUrl, data).then(function (result) {
      card.classList.remove("moving");
      if (result.ok) {
        markCurrent(card, stageId);
        updateTotals(result.body.columns);
        showStatus(result.body.message, false);
      } else {
        revert();
        showStatus(result.body.message || "", true);
      }
    }, function () {
      card.classList.remove("moving");
      revert();
      showStatus(document.getElementById("kanban").dataset.offline || "Network error", true);
    });
  }

  function listFor(stageId) {
    return document.querySelector(".kanban-cards[data-stage='" + stageId + "']");
  }

  function initBoard(board) {
    if (window.Sortable) {
      board.querySelectorAll(".kanban-cards").forEach(function (list) {
        window.Sortable.create(list, {
          group: { name: "kanban", put: list.dataset.droppable === "1" },
          draggable: ".kanban-card.movable",
          filter: "a, summary, select, button, input",
          preventOnFilter: false,
          animation: 120,
          onEnd: function (event) {
            if (event.from === event.to) return;
            const card = event.item;
            const column = event.to.closest(".kanban-column");
            const revert = function () {
              event.from.insertBefore(card, event.from.children[event.oldIndex] || null);
            };
            moveCard(card, event.to.dataset.stage, column ? column.dataset.kind : "", revert);
          },
        });
      });
    }
    // the keyboard fallback: each card's "Move to…" form, sent the same way
    board.addEventListener("submit", function (event) {
      const form = event.target.closest(".move-menu");
      if (!form) return;
      event.preventDefault();
      const card = form.closest(".kanban-card");
      const option = form.stage.selectedOptions[0];
      if (!card || !option) return;
      const from = card.parentElement;
      const next = card.nextElementSibling;
      const target = listFor(option.value);
      const revert = function () { from.insertBefore(card, next); };
      if (target) target.insertBefore(card, target.firstChild);
      const details = form.closest("details");
      if (details) details.open = false;
      moveCard(card, option.value, option.dataset.kind || "", revert).then(function () {
        const summary = card.querySelector("summary");
        if (summary) summary.focus();
      });
    });
  }

  // --- the product-line editor ------------------------------------------------------------------

  function initLineEditor(editor) {
    const prefix = editor.dataset.prefix;
    const total = editor.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    const template = editor.querySelector("#line-template");
    const rows = editor.querySelector(".line-rows");
    editor.addEventListener("click", function (event) {
      if (!event.target.closest("[data-add-line]")) return;
      const index = Number(total.value);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const first = rows.lastElementChild && rows.lastElementChild.querySelector("input");
      if (first) first.focus();
    });
    editor.addEventListener("change", function (event) {
      if (event.target.name && /-DELETE$/.test(event.target.name)) {
        const row = event.target.closest(".line-row");
        if (row) row.classList.toggle("removed", event.target.checked);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const board = document.getElementById("kanban");
    if (board) initBoard(board);
    const editor = document.getElementById("line-editor");
    if (editor) initLineEditor(editor);
  });
})();
