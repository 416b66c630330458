package config

func finish(cfg *Config, opts *Options, d *diagSink) {}
