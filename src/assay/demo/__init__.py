"""The sample organisation, people and projects that ``assay demo`` creates."""
