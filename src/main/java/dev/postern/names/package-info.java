/**
 * Domain and host names: the one place where a name from the wire, the config file or the command line is turned
 * into the form every lookup uses (UTS #46 A-labels, lower case, no trailing dot), and the one host-name check.
 * Uses nothing of ours, so every other package may use it.
 */
package dev.postern.names;
