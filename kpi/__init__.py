"""KPI calculations shared by the dashboard, exports and the command line."""
