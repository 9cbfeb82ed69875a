"""The workspace's brand kit: caption font, colours, position and size, a logo overlay, intro
and outro clips, and the default caption style and aspect of new clips."""
