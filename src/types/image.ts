import type { ContainerConfig } from './container.js';

/** An element of GET /images/json. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** GET /images/{name}/json. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** Before API 1.45: the container a commit made the image from, and that container's config. */
  Container?: string;
  ContainerConfig?: ContainerConfig;
}

/** An element of GET /images/{name}/history. */
export interface ImageHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImagePruneResponse {
  ImagesDeleted: ImageDeleteItem[] | null;
  SpaceReclaimed: number;
}

/** One JSON line of a streamed progress response (pull, push, load, import, build). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: Record<string, unknown>;
}

/**
 * The Engine API's AuthConfig: the body of POST /auth, and base64url JSON in the
 * X-Registry-Auth header of pull and push.
 */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** Deprecated in the API, still sent by old clients. */
  email?: string;
  /** `127.0.0.1:5000`, `https://index.docker.io/v1/`, ... */
  serveraddress?: string;
  /** A refresh token a registry's token server gave at login, used instead of the password. */
  identitytoken?: string;
  /** A bearer token for the registry itself, sent as is. */
  registrytoken?: string;
}

/** POST /auth's answer. */
export interface AuthResponse {
  Status: string;
  IdentityToken?: string;
}
