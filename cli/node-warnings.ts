/**
 * The AWS SDK warns about Node 20's coming end of support each time a client is created; that is
 * noise on stderr, where txlake prints its progress. The SDK's own switch turns it off.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
