/** The topology the transport serves; membership keeps it current (see ClusterTopology). */
export { ClusterTopology as LocalTopology, type LocalMember } from './ClusterTopology.js';
