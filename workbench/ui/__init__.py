"""The only streamlit-aware part of the package: the shared frame, session keys, widgets."""
