/** Final delivery on this host: Maildir folders for the local domains. */
package dev.postern.local;
