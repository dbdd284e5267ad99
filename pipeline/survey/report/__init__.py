"""The survey report: context, inline SVG charts and the writer."""
