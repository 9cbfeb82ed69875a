"""Getting source videos in: upload staging (multipart and tus protocol pieces), URL
download and the SSRF guard. Infrastructure: imports no domain package; the routes that
create projects live in `projects/` and call into here."""
