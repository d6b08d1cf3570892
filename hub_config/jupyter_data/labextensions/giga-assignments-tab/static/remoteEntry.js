/*
 * giga-assignments-tab: Notebook 7's file browser (/tree) shows nbgrader's assignment list as a tab next to
 * "Files" from the start, labelled 「課題」; stock nbgrader adds it only when a student finds
 * Nbgrader › Assignment List in the menu.
 *
 * A hand-written JupyterLab federated extension (the container protocol that Notebook 7 and JupyterLab load:
 * window._JUPYTERLAB[name] with init() and get(module)), so no node build is needed. It imports nothing and
 * only runs nbgrader's own command; Files stays the current tab.
 * Checked in a real browser by tests/browser/test_notebook_assignments_tab.py.
 */
(function () {
  "use strict";
  var NAME = "giga-assignments-tab";
  var COMMAND = "nbgrader:open-assignment-list";
  var WIDGET_ID = "nbgrader-assignment-list"; // nbgrader's MainAreaWidget
  var LABEL = "課題"; // the language pack does not translate nbgrader ("Assignments")
  var WAIT_FOR_NBGRADER_MS = 60000;

  function pageConfig(doc) {
    var element = doc.getElementById("jupyter-config-data");
    try {
      return element ? JSON.parse(element.textContent || "{}") : {};
    } catch (error) {
      return {};
    }
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

  function holds(widget, id) {
    return Boolean(widget && widget.widgets) && Array.prototype.some.call(widget.widgets, function (child) {
      return child.id === id;
    });
  }

  // the tree page's tab panel (Files, Running, …) once it holds nbgrader's widget
  function panelHolding(app, id) {
    var main = app.shell.widgets("main");
    for (var step = main.next(); !step.done; step = main.next()) {
      if (holds(step.value, id)) {
        return step.value;
      }
    }
    return null;
  }

  function openAssignmentsTab(app) {
    return Promise.resolve(app.commands.execute(COMMAND)).then(function () {
      var panel = panelHolding(app, WIDGET_ID);
      if (!panel) {
        return false; // not the tree's tab panel (nbgrader opened it elsewhere): leave it as it is
      }
      var assignments = Array.prototype.find.call(panel.widgets, function (child) {
        return child.id === WIDGET_ID;
      });
      assignments.title.label = LABEL;
      var files = panel.widgets[0];
      if (files && panel.currentWidget !== files) {
        panel.currentWidget = files;
      }
      return true;
    });
  }

  var plugin = {
    id: NAME + ":plugin",
    description: "Opens nbgrader's assignment list as a tab of Notebook 7's file browser at start-up.",
    autoStart: true,
    activate: function (app) {
      if (pageConfig(document).notebookPage !== "tree") {
        return; // notebooks and editors: nothing to add
      }
      app.restored
        .then(function () {
          return whenCommandExists(app.commands, COMMAND, WAIT_FOR_NBGRADER_MS);
        })
        .then(function (exists) {
          return exists ? openAssignmentsTab(app) : false;
        })
        .catch(function (error) {
          console.warn(NAME + ": could not open the assignment list", error);
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
