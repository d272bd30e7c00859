package web

import (
	"log/slog"
	"syscall"

	"roster/models"
)

// descriptorReserve is what the process keeps open besides client
// connections and the database's: listeners, standard streams, the
// poller, uploads being written, outgoing calls to providers.
const descriptorReserve = 64

// warnDescriptorLimit warns at start when --max-connections and the
// database's connections together may need more file descriptors than the
// process may open (RLIMIT_NOFILE): past the limit, new client connections
// wait to be accepted and new database connections fail with "too many
// open files", which readiness then reports.
func warnDescriptorLimit(cfg Config, db *models.DB, log *slog.Logger) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	need := uint64(cfg.MaxConnections) + uint64(db.MaxDescriptors()) + descriptorReserve
	if need > rl.Cur {
		log.Warn("--max-connections is more than the file-descriptor limit allows: raise the limit (ulimit -n, systemd's LimitNOFILE=) or lower --max-connections",
			"max_connections", cfg.MaxConnections, "database_descriptors", db.MaxDescriptors(), "reserve", descriptorReserve,
			"needed", need, "limit", rl.Cur)
	}
}
