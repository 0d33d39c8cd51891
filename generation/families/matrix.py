"""The generation matrix as the README shows it, rendered from the family registry.

Pure: it imports only `generation.families` and `generation.request`. A test checks that the
README holds exactly `render_matrix()`, so the table cannot drift from the specs; print it with
`python -c "from generation.families.matrix import render_matrix; print(render_matrix())"`.
"""

from __future__ import annotations

from generation.families import DEFAULT_FAMILIES, Families, FamilySpec
from generation.request import Task

# What each task is, in the matrix's first column.
TASK_LABELS: dict[Task, str] = {
    Task.TEXT2IMG: "`text2img`",
    Task.IMG2IMG: "`img2img` (a picture, `strength`)",
    Task.INPAINT: "`inpaint` (picture + mask, white = repaint)",
    Task.MIX: "`mix` (texts and pictures with weights, through the prior)",
    Task.DEPTH: "`depth` (ControlNet, text or image to image)",
    Task.EDIT: "`edit` (a picture changed as an instruction says)",
    Task.ANIMATE: "`animate` (a video, from the prompt or a picture)",
}


def _cell(spec: FamilySpec, task: Task) -> str:
    if not spec.supports(task):
        return "no"
    if task is Task.TEXT2IMG:
        return "prior + decoder" if spec.has_prior else "single pipeline"
    return "yes"


def render_matrix(families: Families = DEFAULT_FAMILIES) -> str:
    """The markdown table of which family runs which task (no trailing newline)."""
    rows = [
        ["task", *(spec.title for spec in families)],
        ["---"] * (len(families) + 1),
        *([TASK_LABELS[task], *(_cell(spec, task) for spec in families)] for task in Task),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
