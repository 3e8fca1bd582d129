#!/usr/bin/env node
// The old path of the command, kept for scripts that run it by name: the command itself is
// bin/smtpkit.cjs (CommonJS starts faster), which package.json's "bin" names.
import './smtpkit.cjs';
