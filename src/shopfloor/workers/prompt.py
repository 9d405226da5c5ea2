"""What a worker's agent is told (pure): the issue as its prompt, the protocol as a system addition.

The issue's text is untrusted and stays data: it becomes one argv element, never shell text.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shopfloor.tracker.issuetype import Issue

PROTOCOL = """\
You are a shopfloor worker. You work alone in your own clone of the repository, on
branch {branch}, for issue {issue}. Rules:
- Change only what the issue needs. Commit your work on {branch} with git when it is done;
  do not push (the floor fetches your branch), do not switch or create branches.
- Run the project's tests before you commit. An independent gate re-checks every commit.
- Use `shopfloor show {issue}` for the issue and `shopfloor comment {issue} TEXT` to record
  findings. When you are done, run `shopfloor done --summary TEXT` and end your turn with a
  short summary of what you changed."""


def build_prompt(issue: Issue, extra: str | None = None) -> str:
    parts = [f"Work on issue {issue['id']}: {issue['title']}"]
    for text, heading in (
        (issue["description"], None),
        (issue["design"], "Design"),
        (issue["acceptance"], "Acceptance criteria"),
    ):
        if text.strip():
            parts.append(f"{heading}:\n{text.strip()}" if heading else text.strip())
    parts.append(f"Vibe level {issue['vibe']} (1-5: lower means the gate is stricter).")
    if extra:
        parts.append(extra)
    return "\n\n".join(parts)


def system_extra(issue_id: str, branch: str) -> str:
    return PROTOCOL.format(issue=issue_id, branch=branch)


def restart_prompt(issue_id: str) -> str:
    return (
        f"shopfloor restarted this session. Carry on with issue {issue_id} from where you stopped: check "
        "`git status` and `git log` first, then finish the work and commit it."
    )
