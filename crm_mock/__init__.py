"""crm_mock: realistic, deterministic mock data for a CRM/ERP of microservices, built and loaded with Dagster."""

import os

# Arrow allocates through the system's allocator, not its own mimalloc pool: mimalloc keeps what Arrow's reader
# threads free beyond the reach of release_unused (75-95 MiB for the rest of a run after its first database load),
# while a run's steps hand their freed memory back between them (crm_mock/generate/allocator.py). Arrow reads this
# once, when it is first loaded, so it is set before anything of crm_mock imports pyarrow; a value already set stays.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
