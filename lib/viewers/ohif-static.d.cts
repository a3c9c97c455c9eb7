import type { IncomingMessage, ServerResponse } from 'node:http';

export declare const OHIF_VERSION: string;
export declare const VIEWER_BASE: string;
export declare function ohifDistDir(): string;
export declare function contentTypeOf(file: string): string;
export declare function cacheControlOf(file: string): string;
export declare function staticFile(segments: string[], dist?: string): string | null;
export declare function acceptsGzip(acceptEncoding: string | null | undefined): boolean;
export declare function gzipCopyOf(file: string, acceptEncoding: string | null | undefined): string | null;
export declare function serveOhifStatic(req: IncomingMessage, res: ServerResponse, dist?: string): boolean;
