// Experiments list: its stylesheet.
import "./experiments.css";
