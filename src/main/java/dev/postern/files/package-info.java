/**
 * Writing files durably and privately: the one place that knows the order "write, fsync, rename, fsync the
 * directory", creates directories so that they survive a crash, and gives every file mode 0600 and every directory
 * mode 0700 whatever the umask. Uses nothing else of Postern's.
 */
package dev.postern.files;
