"""One crawl of one Palette instance: lists, details, part outcomes (``crawler``), committed by ``service``.

Imports ``palette``, ``catalog``, ``store``, ``errors`` and ``config``; ``snapshot`` imports nothing of ours.
Nothing is re-exported here: ``store`` imports ``crawl.snapshot``, so this package must stay import-free.

Rules the modules implement (docs/design/ingestion.md):

* Projects are listed first, always (naming, I3); if that list fails the run is ``failed`` and nothing
  changes. ``includeProjects``/``excludeProjects`` decide which projects are crawled at all; the entities
  of a project no longer crawled are removed like any vanished object (the removal guard applies).
* Each ``(scope, kind)`` is a part with its own outcome. A kind switched off in ``resources.*`` is neither
  fetched nor reported; its stored entities then count as gone (the store treats a part without an
  outcome as complete and empty once the project list succeeded), so they are removed, held back first by
  the removal guard when they are more than its share of the part.
* The tenant scope owns tenant- and system-scope objects. Its clusters come from the one-call meta list
  and a name search, never from paging through every project's clusters (``lists``). It is crawled even
  with ``excludeTenantScopedResources`` (a few calls): the mapping drops those entities but still resolves
  profile versions and Kubernetes versions through the tenant's profiles.
* Cluster-group details are fetched only when the summary's ``lastModifiedTimestamp`` differs from the
  cached one; a failed detail falls back to the cached payload (stale, reported) or fails the part.
* A part that points into a failed part is held as well (``dependency``), so no entity loses a relation
  because its target's list failed this time.
* A project-scoped crawl (``CrawlRequest.only_projects``, ``run_crawl(only_projects=...)``) fetches those
  projects' parts plus the context their mapping reads (``scope``), maps them as a full crawl would, and
  commits only their parts (docs/design/ingestion.md, "Project-scoped crawls").
"""
