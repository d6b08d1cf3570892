/*
 * giga-assignments-tab: Notebook 7's file browser (/tree) shows nbgrader's "Assignments" tab next to "Files"
 * from the start; stock nbgrader adds it only when a student finds Nbgrader › Assignment List in the menu.
 *
 * A hand-written JupyterLab federated extension (the container protocol that Notebook 7 and JupyterLab load:
 * window._JUPYTERLAB[name] with init() and get(module)), so no node build is needed. It imports nothing and
 * only runs nbgrader's own command; the tab the student was on (Files) stays the current one.
 * Checked in a real browser by tests/browser/test_notebook_assignments_tab.py.
 */
(function () {
  "use strict";
  var NAME = "giga-assignments-tab";
  var COMMAND = "nbgrader:open-assignment-list";
  var WAIT_FOR_NBGRADER_MS = 60000;

  function pageConfig(doc) {
    var element = doc.getElementById("jupyter-config-data");
    try {
      return element ? JSON.parse(element.textContent || "{}") : {};
    } catch (error) {
      return {};
    }
  }

  function tabs(doc) {
    return Array.prototype.slice.call(doc.querySelectorAll(".jp-TreePanel .lm-TabBar-tab"));
  }

  function currentIndex(doc) {
    return tabs(doc).findIndex(function (tab) {
      return tab.classList.contains("lm-mod-current");
    });
  }

  // nbgrader's plugins may activate after ours (and after app.restored): wait until its command exists
  function whenCommandExists(commands, id, timeoutMs) {
    if (commands.hasCommand(id)) {
      return Promise.resolve(true);
    }
    return new Promise(function (resolve) {
      var done = false;
      function onChanged(sender, change) {
        if (change && change.id === id && change.type === "added") {
          finish(true);
        }
      }
      function finish(found) {
        if (!done) {
          done = true;
          commands.commandChanged.disconnect(onChanged);
          resolve(found);
        }
      }
      commands.commandChanged.connect(onChanged);
      setTimeout(function () {
        finish(commands.hasCommand(id)); // false: nbgrader's assignment list is not installed or disabled
      }, timeoutMs);
    });
  }

  // Lumino's tab bar selects on pointerdown at the tab's position (a click event does nothing)
  function select(tab) {
    var box = tab.getBoundingClientRect();
    var init = {
      bubbles: true,
      cancelable: true,
      button: 0,
      isPrimary: true,
      clientX: box.left + box.width / 2,
      clientY: box.top + box.height / 2,
    };
    var Pointer = typeof PointerEvent === "function" ? PointerEvent : MouseEvent;
    tab.dispatchEvent(new Pointer("pointerdown", init));
    tab.dispatchEvent(new Pointer("pointerup", init));
  }

  // Lumino draws the tab bar on an animation frame: poll briefly until ``ready`` holds
  function until(ready, timeoutMs) {
    var started = Date.now();
    return new Promise(function (resolve) {
      (function poll() {
        if (ready() || Date.now() - started > timeoutMs) {
          resolve(ready());
        } else {
          setTimeout(poll, 50);
        }
      })();
    });
  }

  function openAssignmentsTab(app, doc) {
    if (!app.commands.hasCommand(COMMAND)) {
      return Promise.resolve(false);
    }
    var before = currentIndex(doc);
    var keep = before >= 0 ? before : 0; // the Files tab, first, unless the student already chose another
    var count = tabs(doc).length;
    return Promise.resolve(app.commands.execute(COMMAND))
      .then(function () {
        return until(function () {
          return tabs(doc).length > Math.max(count, keep);
        }, 5000);
      })
      .then(function (drawn) {
        if (drawn && currentIndex(doc) !== keep) {
          select(tabs(doc)[keep]); // back to the tab the student was on
        }
        return drawn;
      });
  }

  var plugin = {
    id: NAME + ":plugin",
    description: "Opens nbgrader's Assignments tab in Notebook 7's file browser at start-up.",
    autoStart: true,
    activate: function (app) {
      if (pageConfig(document).notebookPage !== "tree") {
        return; // notebooks and editors: nothing to add
      }
      app.restored
        .then(function () {
          return whenCommandExists(app.commands, COMMAND, WAIT_FOR_NBGRADER_MS);
        })
        .then(function () {
          return openAssignmentsTab(app, document);
        })
        .catch(function (error) {
          console.warn(NAME + ": could not open the Assignments tab", error);
        });
    },
  };

  var modules = { "./extension": { __esModule: true, default: [plugin] } };
  var root = typeof window !== "undefined" ? window : globalThis;
  root._JUPYTERLAB = root._JUPYTERLAB || {};
  root._JUPYTERLAB[NAME] = {
    init: function () {
      return Promise.resolve(); // shares no module with the application
    },
    get: function (module) {
      if (!Object.prototype.hasOwnProperty.call(modules, module)) {
        return Promise.reject(new Error(NAME + " has no module " + module));
      }
      return Promise.resolve(function () {
        return modules[module];
      });
    },
  };
})();
