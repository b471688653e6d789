"""The HTTP service: the search API and the built static site, on one origin."""

from search_service.main import create_app

__all__ = ["create_app"]
