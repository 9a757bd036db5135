"""Kleer's REST API: the client, the record mapping and a local simulator."""
