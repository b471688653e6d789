"""Rebuilds under `kb serve`, off the request path: `python -m search_service.rebuild STEP` runs
one step (``index`` or ``site``) in its own process, at lower CPU priority, so the server's
threads keep answering searches at full speed while an edit is embedded and the site rebuilt.

Exit codes: 0 done, 3 the content has problems (stderr lists them: retry only after another
edit), 1 anything else (stderr says what; retried with backoff).
"""

from __future__ import annotations

import os
import sys

CONTENT_PROBLEMS = 3


def main(step: str) -> int:
    os.nice(10)  # searches first: this process takes the cores only when they are idle
    from kb.errors import ContentError, KBError
    from kb.workflow import open_searcher, update_index, update_site
    from search_service.settings import ServiceSettings

    settings = ServiceSettings()
    try:
        if step == "index":
            update_index(settings)
        else:
            update_site(settings, searcher=open_searcher(settings))
    except ContentError as exc:
        sys.stderr.write("; ".join(str(p) for p in exc.problems[:5]) + "\n")
        return CONTENT_PROBLEMS
    except KBError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "index"))
