/** The JSON log format ({@code LOG_FORMAT=json}): node, room and peer as fields of their own. */
package io.switchboard.logging;
