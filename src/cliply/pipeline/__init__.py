"""The media pipeline's steps (probe → transcript → highlights → renders), shared by the job
handlers and by `cliply process`, which runs them locally without a server or database."""
