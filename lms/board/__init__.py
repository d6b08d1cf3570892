"""Board of education: aggregates, dashboards, open data, the audited support view, research export."""
