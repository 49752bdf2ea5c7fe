"""Post-event evaluation (回应效果评估), accountability findings and reports."""
