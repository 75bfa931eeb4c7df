"""Measurement: plans, candidates, statistics and reports (host today; phones over adb next, see ROADMAP)."""
