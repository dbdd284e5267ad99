"""Stage-independent building blocks: errors, paths, the one export reader, text normalisation,
embeddings, provenance, hashing and the safety modules. Nothing here knows a survey or a month."""
