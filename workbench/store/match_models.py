"""``match_models``: the trained Fellegi–Sunter parameters, one row per training run.

Each :meth:`Workbench.suggest <workbench.api.Workbench.suggest>` trains the model on the
workspace's own HR and Kleer employees and stores it here: the JSON of
:meth:`workbench.matching.FSModel.to_dict` (levels, m, u, prior, iterations, convergence and the
summary rows) with when, by whom, on how many candidate and labelled pairs, and the suggestion
run it scored. :meth:`MatchModels.latest` is what the Settings page and the notebook show.

:meth:`MatchModels.labels` gathers the analyst's own verdicts for semi-supervised training:
confirmed pairs (active links, saved Match decisions) and rejected ones (links the analyst ended
and did not restore; "create in HR" for a Kleer employee whose assigned suggestion it overrules).
Nothing else is a label: an evaluation's ground truth never enters the workspace.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlite_utils

from .base import Repository
from .values import from_json, to_json, utcnow

__all__ = ["MatchModels", "create_table"]

_MATCH_ACTIONS = ("prefer_hr", "prefer_kleer", "match_manually")


def create_table(db: sqlite_utils.Database) -> None:
    db["match_models"].create(
        {"id": int, "trained_at": str, "trained_by": str, "run_id": str, "pairs": int,
         "labelled": int, "iterations": int, "converged": int, "prior": float, "model": str},
        pk="id")


class MatchModels(Repository):
    table = "match_models"

    def save(self, model: Any, *, analyst: str | None = None, run_id: str | None = None
             ) -> int | None:
        """Store one trained model (an ``FSModel`` or its ``to_dict()``); returns its row id
        (None, storing nothing, when there is no model)."""
        if model is None:
            return None
        if hasattr(model, "to_dict"):
            model = model.to_dict()
        with self.ws.atomic():
            return self.ws.db["match_models"].insert({
                "trained_at": utcnow(), "trained_by": analyst, "run_id": run_id,
                "pairs": int(model.get("pairs", 0)), "labelled": int(model.get("labelled", 0)),
                "iterations": int(model.get("iterations", 0)),
                "converged": int(bool(model.get("converged", False))),
                "prior": float(model.get("prior", 0.0)), "model": to_json(model)}).last_pk

    def latest(self) -> dict[str, Any] | None:
        """The last stored model: the row's columns and ``model`` (the decoded dict), or None."""
        rows = self.ws.query("SELECT * FROM match_models ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        row = rows[0]
        row["model"] = from_json(row["model"], {})
        row["converged"] = bool(row["converged"])
        return row

    def history(self) -> pd.DataFrame:
        """Every training run, newest first, without the parameters."""
        return self.ws.frame("SELECT id, trained_at, trained_by, run_id, pairs, labelled, "
                             "iterations, converged, prior FROM match_models ORDER BY id DESC")

    def labels(self) -> pd.DataFrame:
        """The analyst's confirmed (``match`` true) and rejected pairs: ``hr_id``, ``kleer_id``
        (text), ``match``. A pair both confirmed and rejected counts as confirmed (the later
        link wins over an old unlink)."""
        confirmed = self.ws.query(
            "SELECT hr_id, kleer_id FROM links WHERE active = 1 UNION "
            "SELECT hr_id, subject_id AS kleer_id FROM decisions WHERE side = 'import' AND "
            f"hr_id IS NOT NULL AND action IN ({', '.join('?' * len(_MATCH_ACTIONS))})",
            list(_MATCH_ACTIONS))
        rejected = self.ws.query(
            "SELECT DISTINCT hr_id, kleer_id FROM links WHERE active = 0 UNION "
            "SELECT s.hr_id, s.kleer_id FROM decisions d JOIN suggestions s ON "
            "s.kleer_id = CAST(d.subject_id AS INTEGER) AND s.assigned = 1 "
            "WHERE d.side = 'import' AND d.action = 'create_in_hr'")
        rows = [(str(r["hr_id"]), str(r["kleer_id"]), True) for r in confirmed]
        seen = {(h, k) for h, k, _ in rows}
        rows += [(h, k, False) for h, k in ((str(r["hr_id"]), str(r["kleer_id"])) for r in rejected)
                 if (h, k) not in seen]
        return pd.DataFrame(rows, columns=["hr_id", "kleer_id", "match"]).astype(
            {"hr_id": object, "kleer_id": object, "match": bool})
