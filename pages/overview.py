"""Overview: what the workspace holds and what to do next."""

import streamlit as st

from workbench.ui.frame import frame

wb = frame("Overview")
st.title("Overview")
counts = wb.counts()
label = wb.settings.hr_label
cols = st.columns(4)
cols[0].metric(f"{label} employees", counts["hr"])
cols[1].metric("Kleer employees", counts["kleer"])
cols[2].metric("Linked", counts["linked"])
cols[3].metric("Kleer employees with suggestions", counts["suggestions"])
