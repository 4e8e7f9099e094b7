/** Start-up configuration: environment variables, defaults, validation. */
package io.switchboard.config;
