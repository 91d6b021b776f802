import { tearDown } from './glue-hosts';

export default tearDown;
