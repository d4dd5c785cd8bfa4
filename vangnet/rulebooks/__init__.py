"""The operator's dated rule books (JSON files, packaged defaults under ``rulesets/``) and the working-day
calendar; the rule types themselves are pure and live in ``schemas``."""
