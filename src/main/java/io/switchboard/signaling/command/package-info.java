/** Client requests, decoded and validated by a dialect: immutable records of a sealed family. */
package io.switchboard.signaling.command;
