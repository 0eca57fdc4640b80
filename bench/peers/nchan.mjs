// Peer: nginx with nchan (Debian's libnginx-mod-nchan), one worker process as Node has one thread.
// Each topic is an nchan channel (`?topic=`); EventSource subscribers; history of 200 messages per channel
// so a subscriber can resume with Last-Event-ID.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debVersion } from './support.mjs';

const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const NGINX = '/usr/sbin/nginx';

export default {
  name: 'nchan',
  label: 'nchan (nginx, 1 worker)',
  version: () => `nginx ${debVersion('nginx')}, nchan ${debVersion('libnginx-mod-nchan')}`,
  check: () => {
    if (!existsSync(NGINX)) return `${NGINX} is missing (apt-get install nginx libnginx-mod-nchan)`;
    if (!existsSync(MODULE)) return `${MODULE} is missing (apt-get install libnginx-mod-nchan)`;
    return null;
  },
  command: ({ port, tmp }) => {
    const dir = join(tmp, 'nchan');
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `load_module ${MODULE};
worker_processes 1;
worker_rlimit_nofile 40000;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 40000; use epoll; multi_accept on; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  nchan_shared_memory_size 512M;
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location = /events {
      nchan_subscriber eventsource;
      nchan_channel_id $arg_topic;
      nchan_subscriber_first_message newest;
    }
    location = /publish {
      nchan_publisher;
      nchan_channel_id $arg_topic;
      nchan_message_buffer_length 200;
      nchan_message_timeout 300s;
    }
  }
}
`,
    );
    return { cmd: NGINX, args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf] };
  },
  subscribeUrl: (port) => `http://127.0.0.1:${port}/events?topic=t%I`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish?topic=t%I`,
  // nchan publishes the request body as the message.
  publishBody: '{"t":%T}',
  publishContentType: 'text/plain',
  replay: true,
};
