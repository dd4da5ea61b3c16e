pipeline {
    agent none
    stages { stage('a') { agent any
 steps { echo 'x' } } }
}
