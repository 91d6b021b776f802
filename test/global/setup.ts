import { setUp } from './glue-hosts';

export default setUp;
