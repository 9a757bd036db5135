"""Overview: how many employees are in each state, what to do next, the quality of the links
(a chart of their match scores and the 20 weakest, with their evidence), and the last batches."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from workbench.ui.frame import frame
from workbench.ui.nav import PAGES
from workbench.ui.text import blank, local_time, md, time_zone

wb = frame("Overview")
st.title("Overview")
HR = wb.settings.hr_label      # plain: table headers
HRM = md(HR)                   # markdown: metric labels, help, captions
counts = wb.state_counts()
PAGE_OF = {url: (path, title, icon) for path, title, icon, url in PAGES}

top = st.columns(4)
top[0].metric(f"{HRM} employees", counts.hr)
top[1].metric("Kleer employees", counts.kleer)
top[2].metric("Linked", counts.linked, help=f"{HRM} employees linked to a Kleer user")
top[3].metric(f"Only in {HRM}", counts.only_hr, help=f"{HRM} employees not linked to Kleer: export them")
states = st.columns(4)
states[0].metric("Only in Kleer", counts.only_kleer, help=f"Kleer users not linked to an {HRM} employee")
states[1].metric("Suggested", counts.suggested,
                 help="Unlinked Kleer users with a suggested match to review on Import from Kleer")
states[2].metric("Conflicts", counts.conflicts,
                 help="Employees whose last write was refused because Kleer or the HR register "
                      "changed since the plan: nothing was overwritten. Fetch Kleer and decide again.")
states[3].metric("Blocked", counts.blocked,
                 help="Employees whose last operation was not sent because it was blocked (e.g. no "
                      "valid personnummer or start date); the reason is on Export to Kleer.")

step = wb.next_step(counts)
path, title, icon = PAGE_OF[step.page]
with st.container(border=True):
    st.markdown(f"**Next step** · {md(step.message)}")
    st.page_link(path, label=f"Go to {title}", icon=icon)

# ------------------------------------------------------------------ match quality
st.subheader("Match quality of the links")
links = wb.link_scores()
scored = links[links["score"].notna()]
if links.empty:
    st.caption("Nothing is linked yet.")
else:
    if len(scored):
        chart = alt.Chart(scored).mark_bar().encode(
            x=alt.X("score:Q", bin=alt.Bin(extent=[0, 100], step=5), title="Match score"),
            y=alt.Y("count():Q", title="Links"),
            tooltip=[alt.Tooltip("count():Q", title="Links")],
        ).properties(height=220)
        st.altair_chart(chart, width="stretch")
    unscored = len(links) - len(scored)
    st.caption(f"{len(scored)} links with a match score"
               + (f"; {unscored} linked without one (created in Kleer by an export, or matched "
                  "manually without a suggestion) are not in the chart" if unscored else "") + ".")
    if len(scored):
        st.write(f"**The {min(20, len(scored))} weakest links** — what an auditor checks first")
        weakest = blank(wb.weakest_links(links, 20))
        st.dataframe(weakest[["score", "hr_id", "hr_name", "kleer_id", "kleer_name", "method",
                              "created_by", "reasons"]],
                     hide_index=True, width="stretch", placeholder="",
                     column_config={"score": st.column_config.NumberColumn("Score", format="%.1f"),
                                    "hr_id": f"{HR} id", "hr_name": f"{HR} name",
                                    "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d"),
                                    "kleer_name": "Kleer name", "method": "Linked by",
                                    "created_by": "Analyst",
                                    "reasons": st.column_config.TextColumn("Evidence", width="large")})

# ------------------------------------------------------------------ last batches
st.subheader("Last batches")
batches = wb.batches().head(10)
if batches.empty:
    st.caption("Nothing has been applied yet.")
else:
    st.dataframe(pd.DataFrame({
        "started": batches["started_at"].map(local_time),
        "kind": batches["kind"],
        "analyst": batches["analyst"].fillna(""),
        "status": batches["status"],
        "results": batches["counts"].map(lambda c: ", ".join(f"{v} {k}" for k, v in (c or {}).items())),
        "concurrency": batches["concurrency"].fillna(""),  # the limiter's summary, in words
        "batch": batches["id"],
    }), hide_index=True, width="stretch", placeholder="",
        column_config={"started": f"Started ({time_zone().key})", "results": "Results",
                       "concurrency": "Concurrency"})
    page, title, icon = PAGE_OF["audit"]
    st.page_link(page, label="Every decision and write, and revert, on Audit", icon=icon)
