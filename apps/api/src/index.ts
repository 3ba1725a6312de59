export { createApi, type Api, type ApiOptions } from './create-api.js';
