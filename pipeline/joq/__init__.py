"""Just One Question: monthly embedding-assisted thematic coding with a human in the loop.

Data flow: importer -> discover / code -> review -> agreement -> report (publish) -> trends.
"""
